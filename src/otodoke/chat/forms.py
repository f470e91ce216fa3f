from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from otodoke.chat.models import ConversationState


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea)
    sticker = forms.CharField(required=False)  # "packageId/stickerId" from the picker
    image = forms.FileField(label=_("Image"), required=False)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), max_length=2000, widget=forms.Textarea)


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=ConversationState.choices)


class SavedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    text = forms.CharField(label=_("Text"), max_length=5000, widget=forms.Textarea)
