from scanner.cli import run

run()
