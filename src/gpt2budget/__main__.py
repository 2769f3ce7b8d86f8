from gpt2budget.cli.app import main

main()
