"""Local emulators of the outside services, speaking their real HTTP protocols on 127.0.0.1."""
