"""The official Lexicon set, shipped as package data. See README.md here."""
