"""Administration of a territory by its admins: structures, professionals and their invitations,
territory settings (issue #14). Accounts and settings only, never the content of records."""
