"""Clients and their treated areas: find, create, open a new visit or the timeline of an area."""

import streamlit as st

from skinscan import InputError

from app_pages.common import client_label, for_reader, forget_built, open_store, plain


def clients_page():
    st.header("Clients")
    store = open_store()
    # What the last action did, at the top where it is seen (at the bottom it fell out of view).
    for key in ("client_erased", "area_changed"):
        if st.session_state.get(key):
            st.success(plain(st.session_state.pop(key)))
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
                # The name gives up a column to "Edit": the buttons keep the width they had (a walk saw
                # "Open tim…" when the name kept three).
                name, new_visit, timeline, edit = st.columns([2, 1, 1, 1], vertical_alignment="center")
                name.write(plain(area["name"]))
                if new_visit.button("New visit", key=f"visit_{area['id']}", icon="📷"):
                    _open(client, area, "app_pages/visit.py")
                if timeline.button("Open timeline", key=f"timeline_{area['id']}", icon="📈"):
                    _open(client, area, "app_pages/timeline.py")
                with edit:
                    _area_edit(store, area)
            with st.form(f"area_form_{client['id']}", clear_on_submit=True):
                name = st.text_input("New treated area (e.g. left brow, forearm scar)")
                if st.form_submit_button("Add area") and name.strip():
                    store.add_area(client["id"], name)
                    st.session_state.client_id = client["id"]
                    st.rerun()
            _erase_section(store, client)
    with st.form("new_client", clear_on_submit=True):
        st.subheader("New client")
        name = st.text_input("Name")
        notes = st.text_area("Notes", help="e.g. date of birth, so two clients with one name can be told apart")
        if st.form_submit_button("Create client"):
            try:
                namesakes = [c for c in store.clients() if c["name"].casefold() == name.strip().casefold()]
                st.session_state.client_id = store.add_client(name, notes)
                st.session_state.client_created = name.strip()
                st.session_state.client_namesakes = [client_label(c) for c in namesakes]
                st.rerun()
            except InputError as error:
                st.error(plain(for_reader(str(error))))
    if st.session_state.get("client_created"):
        st.success(f"Client {plain(st.session_state.pop('client_created'))} created.")
        namesakes = st.session_state.pop("client_namesakes", [])
        if namesakes:
            st.info(f"A client with this name was already on record: {plain(', '.join(namesakes))}. If the new "
                    "record was made by mistake, erase it (Erase this client, under its name).")


def _area_edit(store, area):
    """Rename a treated area, or delete it with its visits and photos once its name is typed."""
    with st.popover("Edit", help="Rename or delete this area"):
        new_name = st.text_input("New name", value=area["name"], key=f"area_name_{area['id']}")
        if st.button("Rename", key=f"rename_area_{area['id']}", disabled=new_name.strip() in ("", area["name"])):
            store.rename_area(area["id"], new_name)
            forget_built()
            st.session_state.area_changed = f"Area “{area['name']}” renamed “{new_name.strip()}”."
            st.rerun()
        st.caption("Deleting erases this area with every visit, photo and number in it. It cannot be undone.")
        typed = st.text_input("Type the area's name to delete it", key=f"delete_area_name_{area['id']}")
        confirmed = typed.strip().casefold() == area["name"].strip().casefold()
        if st.button("Delete area", key=f"delete_area_{area['id']}", disabled=not confirmed):
            store.delete_area(area["id"])
            forget_built()
            if st.session_state.get("area_id") == area["id"]:
                st.session_state.pop("area_id")
            st.session_state.area_changed = f"Area “{area['name']}” deleted, with its visits and photos."
            st.rerun()


def _erase_section(store, client):
    """Erase a client and everything held about them (right to erasure), once their name is typed."""
    with st.popover("Erase this client"):
        st.caption("Erases this client with every treated area, visit, photo and number held about them. It "
                   "cannot be undone. The audit log keeps that a client was erased, with counts, not who.")
        typed = st.text_input("Type the client's name to confirm", key=f"erase_name_{client['id']}")
        confirmed = typed.strip().casefold() == client["name"].strip().casefold()
        if st.button("Erase client", key=f"erase_client_{client['id']}", disabled=not confirmed, type="primary"):
            areas = {area["id"] for area in store.areas(client["id"])}
            store.erase_client(client["id"])
            forget_built()
            # The pages open on the client and area chosen last: not on records that no longer exist.
            if st.session_state.get("client_id") == client["id"]:
                st.session_state.pop("client_id")
            if st.session_state.get("area_id") in areas:
                st.session_state.pop("area_id")
            st.session_state.client_erased = f"{client_label(client)} erased, with all their records and photos."
            st.rerun()


def _open(client, area, page):
    """Go to a page with this client and area chosen."""
    st.session_state.client_id = client["id"]
    st.session_state.area_id = area["id"]
    st.switch_page(page)


clients_page()
