from services.routing.main import run

run()
