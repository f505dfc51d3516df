"""The WSGI application for a server of your choice: `gunicorn 'kb.wsgi:app'`.

`kb serve --production` is the documented way (it checks the settings and the database first);
this module is for process managers that start a WSGI server themselves. Set KB_PRODUCTION=true
so that the same checks refuse unsafe settings.
"""

from kb.web import create_app

app = create_app()
