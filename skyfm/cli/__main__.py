from skyfm.cli import main

main()
