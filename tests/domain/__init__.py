"""Tests of the framework-free domain core."""
