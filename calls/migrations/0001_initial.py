"""Calls and call-backs move from referrals into an app of their own; their tables keep their names."""

import django.db.models.deletion
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("referrals", "0007_referral_suggested_priority_override"),
        ("patients", "0003_deaths_and_admissions"),
        ("services", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Call",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("received_at", models.DateTimeField(db_index=True)),
                        ("ended_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "direction",
                            models.CharField(
                                choices=[("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")],
                                default="INBOUND",
                                max_length=8,
                            ),
                        ),
                        (
                            "caller_type",
                            models.CharField(
                                choices=[
                                    ("PATIENT", "Patient"),
                                    ("CARER_FAMILY", "Carer or family"),
                                    ("GP", "GP"),
                                    ("DISTRICT_NURSE", "District nurse"),
                                    (
                                        "COMMUNITY_SPC_NURSE",
                                        "Community specialist palliative care nurse",
                                    ),
                                    ("CARE_HOME_STAFF", "Care home staff"),
                                    ("HOSPITAL_CLINICIAN", "Hospital clinician"),
                                    ("HOSPICE_STAFF", "Hospice staff"),
                                    ("OOH_111", "Out of hours / NHS 111"),
                                    ("AMBULANCE", "Ambulance service"),
                                    ("SOCIAL_CARE", "Social care"),
                                    ("PHARMACIST", "Pharmacist"),
                                    ("VOLUNTARY_SECTOR", "Voluntary sector"),
                                    ("OTHER", "Other"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("caller_name", models.CharField(blank=True, max_length=200)),
                        (
                            "caller_phone",
                            phonenumber_field.modelfields.PhoneNumberField(
                                blank=True, max_length=128, region=None
                            ),
                        ),
                        ("caller_organisation", models.CharField(blank=True, max_length=200)),
                        (
                            "caller_relationship",
                            models.CharField(
                                blank=True,
                                max_length=100,
                                verbose_name="relationship to the patient",
                            ),
                        ),
                        (
                            "reason",
                            models.CharField(
                                choices=[
                                    ("SYMPTOM_CONTROL", "Symptom control"),
                                    ("MEDICATION_QUERY", "Medication query"),
                                    ("REQUEST_VISIT", "Request a visit"),
                                    ("REQUEST_ADMISSION", "Request admission"),
                                    ("CARE_PACKAGE_EQUIPMENT", "Care package or equipment"),
                                    ("CARER_CRISIS", "Carer crisis"),
                                    ("DEATH_NOTIFICATION", "Death notification"),
                                    ("BEREAVEMENT", "Bereavement"),
                                    ("NEW_REFERRAL", "New referral"),
                                    ("CLINICAL_UPDATE", "Clinical update"),
                                    ("INFORMATION", "Information"),
                                    ("ADMIN", "Admin"),
                                    ("OTHER", "Other"),
                                ],
                                max_length=22,
                            ),
                        ),
                        ("notes", models.TextField(blank=True, max_length=5000)),
                        ("red_flags", models.JSONField(blank=True, default=list)),
                        (
                            "carer_coping",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("COPING", "Coping"),
                                    ("STRUGGLING", "Struggling"),
                                    ("CRISIS_TONIGHT", "Crisis tonight"),
                                    ("NO_CARER", "No carer"),
                                ],
                                max_length=14,
                            ),
                        ),
                        (
                            "patient_location",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("HOME", "Home"),
                                    ("CARE_HOME", "Care home"),
                                    ("HOSPITAL", "Hospital"),
                                    ("HOSPICE", "Hospice"),
                                    ("OTHER", "Other"),
                                ],
                                max_length=9,
                            ),
                        ),
                        (
                            "suggested_priority",
                            models.CharField(
                                choices=[
                                    ("P1", "P1 Emergency"),
                                    ("P2", "P2 Urgent (2-hour response)"),
                                    ("P3", "P3 Same day"),
                                    ("P4", "P4 Soon"),
                                    ("P5", "P5 Routine"),
                                ],
                                max_length=2,
                            ),
                        ),
                        ("suggestion_reasons", models.JSONField(default=list)),
                        ("triage_rules_version", models.CharField(max_length=20)),
                        (
                            "chosen_priority",
                            models.CharField(
                                choices=[
                                    ("P1", "P1 Emergency"),
                                    ("P2", "P2 Urgent (2-hour response)"),
                                    ("P3", "P3 Same day"),
                                    ("P4", "P4 Soon"),
                                    ("P5", "P5 Routine"),
                                ],
                                max_length=2,
                            ),
                        ),
                        ("override_reason", models.TextField(blank=True, max_length=1000)),
                        (
                            "disposition",
                            models.CharField(
                                choices=[
                                    ("ADVICE_GIVEN", "Advice given"),
                                    ("SIGNPOSTED", "Signposted"),
                                    ("REFERRALS_CREATED", "Referrals created"),
                                    ("ADVISED_999", "Advised to ring 999"),
                                    ("WARM_TRANSFER", "Warm transfer"),
                                ],
                                max_length=17,
                            ),
                        ),
                        ("needs_senior_review", models.BooleanField(default=False)),
                        ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                        ("review_comment", models.TextField(blank=True, max_length=2000)),
                        ("idempotency_key", models.CharField(blank=True, max_length=64, null=True)),
                        (
                            "handled_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="calls_handled",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="calls",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "patient_site",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="services.site",
                            ),
                        ),
                        (
                            "reviewed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "triage",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="call",
                                to="patients.assessment",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "referrals_call",
                        "ordering": ["-received_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="CallBack",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("due_at", models.DateTimeField(db_index=True)),
                        ("note", models.CharField(blank=True, max_length=500)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("PENDING", "Pending"),
                                    ("DONE", "Done"),
                                    ("CANCELLED", "Cancelled"),
                                ],
                                default="PENDING",
                                max_length=9,
                            ),
                        ),
                        ("done_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "assigned_to",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="call_backs",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "call",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="call_backs",
                                to="calls.call",
                            ),
                        ),
                        (
                            "done_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="call_backs",
                                to="patients.patient",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "referrals_callback",
                        "ordering": ["due_at"],
                    },
                ),
                migrations.AddIndex(
                    model_name="call",
                    index=models.Index(
                        fields=["patient", "received_at"], name="call_patient_received"
                    ),
                ),
                migrations.AddIndex(
                    model_name="call",
                    index=models.Index(
                        fields=["handled_by", "received_at"], name="call_handler_received"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="call",
                    constraint=models.UniqueConstraint(
                        fields=("handled_by", "idempotency_key"), name="call_idempotency_key_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="call",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("chosen_priority", models.F("suggested_priority")),
                            models.Q(("override_reason", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="call_override_needs_reason",
                    ),
                ),
            ]
        ),
    ]
