from driver_service.app import create_app
from driver_service.settings import DriverSettings
from shared.entrypoint import serve

serve(DriverSettings, create_app)
