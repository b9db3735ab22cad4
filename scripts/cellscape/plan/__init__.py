"""Planning facts read without torch: what the workflow will run, and where its files go."""
