"""skinscan — the practitioner's app (Streamlit).

Start with ``bash scripts/run-app.sh`` (``streamlit run app.py``). On first start with an empty record
the demo client is built from ``sample_images/``. Everything measured comes from ``skinscan.pipeline``;
the pages in ``app_pages/`` only show it and store it.
"""

import streamlit as st

from app_pages.common import require_password_when_networked

st.set_page_config(page_title="skinscan", layout="wide")
require_password_when_networked()
st.navigation([
    st.Page("app_pages/clients.py", title="Clients", icon="👤", default=True),
    st.Page("app_pages/visit.py", title="New visit", icon="📷"),
    st.Page("app_pages/timeline.py", title="Timeline & report", icon="📈"),
]).run()
