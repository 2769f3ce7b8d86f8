from gpt2budget.cli import main

main()
