"""Chat-ops: Slack, Microsoft Teams and Mattermost speak one command grammar (``grammar``) and share one
conversation (``conversation``); each route only authenticates its platform and reads its envelope."""
