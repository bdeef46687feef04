"""The customer's side: pages a customer reaches with a signed link, never a staff page."""
