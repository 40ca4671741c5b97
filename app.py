from pb import create_app

app = create_app()
