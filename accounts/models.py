"""Roles are groups (accounts.roles); this module exists so that post_migrate reaches
accounts.apps, which re-syncs the role permissions after every migrate."""
