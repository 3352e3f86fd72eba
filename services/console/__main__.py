from services.console.main import run

run()
