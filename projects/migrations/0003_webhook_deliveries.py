# Webhook deliveries and attempts, and the endpoint state that retries and rotation need.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.fields


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0001_initial"),
        ("projects", "0002_webhook"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="consecutive_failures",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="webhook",
            name="disabled_reason",
            field=models.CharField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="webhook",
            name="previous_secret_expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="webhook",
            name="previous_signing_secret",
            field=core.fields.EncryptedTextField(blank=True, default="", editable=False),
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("delivery_uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("event_type", models.CharField(max_length=32)),
                ("is_test", models.BooleanField(default=False)),
                ("payload", models.JSONField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("gave_up", "Gave up"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, default=django.utils.timezone.now, null=True)),
                ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                ("window_started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created", models.DateTimeField(default=django.utils.timezone.now)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                (
                    "event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="files.event",
                    ),
                ),
                (
                    "webhook",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="projects.webhook"
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-id"],
            },
        ),
        migrations.CreateModel(
            name="WebhookAttempt",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("error", models.CharField(blank=True, default="", max_length=500)),
                ("request_headers", models.JSONField(default=dict)),
                ("request_body", models.TextField(blank=True, default="")),
                ("response_excerpt", models.TextField(blank=True, default="")),
                (
                    "delivery",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempt_log",
                        to="projects.webhookdelivery",
                    ),
                ),
            ],
            options={
                "ordering": ["started_at", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["next_attempt_at"], name="delivery_due"
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["webhook", "-created"], name="delivery_by_webhook"),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(fields=("webhook", "event"), name="delivery_once_per_event"),
        ),
    ]
