from zoo_cli.main import run

run()
