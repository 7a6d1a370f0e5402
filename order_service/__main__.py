from order_service.app import create_app
from order_service.settings import OrderSettings
from shared.entrypoint import serve

serve(OrderSettings, create_app)
