from django.db import models

from endpoints.ids import new_id


class TimestampedModel(models.Model):
    id = models.CharField(primary_key=True, max_length=30, default=new_id, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
