from localspot.cli import main

main()
