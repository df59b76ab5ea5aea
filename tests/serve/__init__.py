"""Tests of pinhan.serve: the app, a property-based fuzz test and a browser test."""
