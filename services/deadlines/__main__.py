from services.deadlines.main import run

run()
