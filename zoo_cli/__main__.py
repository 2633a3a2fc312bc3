from zoo_cli.entry import run

run()
