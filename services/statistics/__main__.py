from services.statistics.main import run

run()
