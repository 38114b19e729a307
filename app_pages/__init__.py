"""Pages of the skinscan app (Streamlit lives here and in app.py only)."""
