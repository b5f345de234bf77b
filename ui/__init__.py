"""The Streamlit page, installed as the package ``ragkit_ui``; ``ragkit ui`` runs ``app.py``."""
