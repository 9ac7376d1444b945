"""Shared vocabulary of 城管通: enums, errors, schemas, the category catalogue and geo helpers.

Used by both the server and the phone app, so it imports no Flask, no Kivy and no database.
"""
