from dispatch_service.app import create_app
from dispatch_service.settings import DispatchSettings
from shared.entrypoint import serve

serve(DispatchSettings, create_app)
