"""Clicks on tracked links, for apps above this one (scenarios) to act on."""

from django.dispatch import Signal

# workspace, contact_id, link_id, campaign_id, at
link_clicked = Signal()
