"""A small multi-tenant schema with rows, shared by the RLS generator and tester tests."""

from __future__ import annotations

USER_A = "00000000-0000-4000-8000-00000000000a"
USER_B = "00000000-0000-4000-8000-00000000000b"
OUTSIDER = "00000000-0000-4000-8000-0000000000ff"
ORG_A, ORG_B = 1, 2

BASE = f"""
CREATE TABLE public.organizations (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.organization_members (
    organization_id bigint NOT NULL REFERENCES public.organizations (id),
    user_id uuid NOT NULL,
    PRIMARY KEY (organization_id, user_id));
CREATE TABLE public.projects (
    id bigint PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES public.organizations (id),
    name text NOT NULL);
INSERT INTO public.organizations VALUES ({ORG_A}, 'a'), ({ORG_B}, 'b');
INSERT INTO public.organization_members VALUES ({ORG_A}, '{USER_A}'), ({ORG_B}, '{USER_B}');
INSERT INTO public.projects SELECT g, 1 + g % 2, 'project ' || g FROM generate_series(1, 100) g;
"""
