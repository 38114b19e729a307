"""Clients and their treated areas: find, create, open a new visit or the timeline of an area."""

import streamlit as st

from skinscan import InputError

from app_pages.common import client_label, for_reader, open_store, plain


def clients_page():
    st.header("Clients")
    store = open_store()
    search = st.text_input("Find a client", key="client_search", placeholder="part of a name")
    clients = store.clients(search)
    if search.strip() and not clients:
        st.info(f"No client's name contains “{plain(search.strip())}”. Check the spelling, or create the "
                "client below.")
    for client in clients:
        with st.expander(plain(client_label(client)), expanded=client["id"] == st.session_state.get("client_id")):
            if client.get("notes"):
                st.caption(plain(client["notes"]))
            areas = store.areas(client["id"])
            if not areas:
                st.write("No treated areas yet.")
            for area in areas:
                name, new_visit, timeline = st.columns([3, 1, 1], vertical_alignment="center")
                name.write(plain(area["name"]))
                if new_visit.button("New visit", key=f"visit_{area['id']}", icon="📷"):
                    _open(client, area, "app_pages/visit.py")
                if timeline.button("Open timeline", key=f"timeline_{area['id']}", icon="📈"):
                    _open(client, area, "app_pages/timeline.py")
            with st.form(f"area_form_{client['id']}", clear_on_submit=True):
                name = st.text_input("New treated area (e.g. left brow, forearm scar)")
                if st.form_submit_button("Add area") and name.strip():
                    store.add_area(client["id"], name)
                    st.session_state.client_id = client["id"]
                    st.rerun()
    with st.form("new_client", clear_on_submit=True):
        st.subheader("New client")
        name = st.text_input("Name")
        notes = st.text_area("Notes", help="e.g. date of birth, so two clients with one name can be told apart")
        if st.form_submit_button("Create client"):
            try:
                st.session_state.client_id = store.add_client(name, notes)
                st.session_state.client_created = name.strip()
                st.rerun()
            except InputError as error:
                st.error(plain(for_reader(str(error))))
    if st.session_state.get("client_created"):
        st.success(f"Client {plain(st.session_state.pop('client_created'))} created.")


def _open(client, area, page):
    """Go to a page with this client and area chosen."""
    st.session_state.client_id = client["id"]
    st.session_state.area_id = area["id"]
    st.switch_page(page)


clients_page()
