"""skinscan app (Streamlit). Placeholder until the app issue lands: shows what the pipeline can do."""

import streamlit as st

st.set_page_config(page_title="skinscan", layout="wide")
st.title("skinscan")
st.write(
    "Colour-calibrated skin measurements from treatment photos. The full app is on its way; "
    "meanwhile the `skinscan` command measures photos (see README)."
)
