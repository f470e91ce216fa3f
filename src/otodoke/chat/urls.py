"""URLs of the chat inbox, spliced into the workspace patterns of web/urls.py (one line there),
so they live under /w/<slug>/chat/ with the web app's names (`web:chat`)."""

from django.urls import path

from otodoke.chat import views

urlpatterns = [
    path("chat/", views.inbox, name="chat"),
    path("chat/list/", views.inbox_list, name="chat_list"),
    path("chat/saved-replies/", views.saved_replies, name="chat_saved_replies"),
    path(
        "chat/saved-replies/<int:reply_id>/delete/",
        views.saved_reply_delete,
        name="chat_saved_reply_delete",
    ),
    path("chat/content/<int:message_id>/", views.content, name="chat_content"),
    path("chat/<int:conversation_id>/", views.conversation, name="chat_conversation"),
    path("chat/<int:conversation_id>/timeline/", views.timeline_part, name="chat_timeline"),
    path("chat/<int:conversation_id>/reply/", views.reply, name="chat_reply"),
    path("chat/<int:conversation_id>/state/", views.state, name="chat_state"),
    path("chat/<int:conversation_id>/assign/", views.assign, name="chat_assign"),
    path("chat/<int:conversation_id>/notes/", views.note, name="chat_note"),
]
