"""Clients and their treated areas: find, create, open."""

import streamlit as st

from skinscan import InputError

from app_pages.common import open_store

def clients_page():
    st.header("Clients")
    store = open_store()
    search = st.text_input("Find a client", key="client_search")
    for client in store.clients(search):
        with st.expander(client["name"], expanded=client["id"] == st.session_state.get("client_id")):
            areas = store.areas(client["id"])
            st.write(", ".join(a["name"] for a in areas) or "No treated areas yet.")
            with st.form(f"area_form_{client['id']}", clear_on_submit=True):
                name = st.text_input("New treated area (e.g. left brow, forearm scar)")
                if st.form_submit_button("Add area") and name.strip():
                    store.add_area(client["id"], name)
                    st.session_state.client_id = client["id"]
                    st.rerun()
            if st.button("Open timeline", key=f"open_{client['id']}", disabled=not areas):
                st.session_state.client_id = client["id"]
                st.session_state.area_id = areas[0]["id"]
                st.switch_page("app_pages/timeline.py")
    with st.form("new_client", clear_on_submit=True):
        st.subheader("New client")
        name = st.text_input("Name")
        notes = st.text_area("Notes")
        if st.form_submit_button("Create client"):
            try:
                st.session_state.client_id = store.add_client(name, notes)
                st.success(f"Client {name} created.")
                st.rerun()
            except InputError as error:
                st.error(str(error))



clients_page()
