"""The bundled plan (plan/plan.yaml, plan/sections.yaml), installed as the package models.data."""
