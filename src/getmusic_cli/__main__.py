from getmusic_cli.cli import main

main()
