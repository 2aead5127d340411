"""The two web front ends (the app and the workshop's pages) and what they share."""
