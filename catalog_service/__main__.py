from catalog_service.app import create_app
from catalog_service.settings import CatalogSettings
from shared.entrypoint import serve

serve(CatalogSettings, create_app)
