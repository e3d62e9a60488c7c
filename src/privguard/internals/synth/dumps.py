"""Assemble MySQL/MariaDB and PostgreSQL dump files from per-table part files."""

from __future__ import annotations

import shutil
from pathlib import Path

from privguard.internals.synth.layouts import Layout

_MYSQL_HEAD = """-- MariaDB dump 10.19  Distrib 10.5.23-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 10.20.1.15    Database: {db}
-- ------------------------------------------------------
-- Server version\t10.5.23-MariaDB-0+deb11u1

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;
"""
_MYSQL_TAIL = """/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2014-05-02  3:15:00
"""
_PG_HEAD = """--
-- PostgreSQL database dump
--

-- Dumped from database version 9.3.5
-- Dumped by pg_dump version 9.3.5

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET client_min_messages = warning;

SET search_path = public, pg_catalog;

SET default_tablespace = '';

SET default_with_oids = false;

"""
_PG_TAIL = """--
-- PostgreSQL database dump complete
--

"""


def _int_col(field: str) -> bool:
    return field in ("duration:seconds", "duration:minutes")


def mysql_table(table: str, layout: Layout) -> tuple[str, str]:
    """Text before and after one table's INSERT statements."""
    cols = ",\n".join(
        f"  `{c.header}` {'int(11)' if _int_col(c.field) else 'varchar(255)'} DEFAULT NULL"
        for c in layout.columns
    )
    before = (
        f"\n--\n-- Table structure for table `{table}`\n--\n\n"
        f"DROP TABLE IF EXISTS `{table}`;\n"
        "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
        "/*!40101 SET character_set_client = utf8 */;\n"
        f"CREATE TABLE `{table}` (\n{cols}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
        "/*!40101 SET character_set_client = @saved_cs_client */;\n\n"
        f"--\n-- Dumping data for table `{table}`\n--\n\n"
        f"LOCK TABLES `{table}` WRITE;\n"
        f"/*!40000 ALTER TABLE `{table}` DISABLE KEYS */;\n"
    )
    after = f"/*!40000 ALTER TABLE `{table}` ENABLE KEYS */;\nUNLOCK TABLES;\n"
    return before, after


def pg_table(table: str, layout: Layout) -> tuple[str, str]:
    """Text before and after one table's COPY data."""
    cols = ",\n".join(
        f"    {c.header} {'integer' if _int_col(c.field) else 'text'}" for c in layout.columns
    )
    names = ", ".join(c.header for c in layout.columns)
    before = (
        f"--\n-- Name: {table}; Type: TABLE; Schema: public; Owner: securus\n--\n\n"
        f"CREATE TABLE {table} (\n{cols}\n);\n\n\nALTER TABLE public.{table} OWNER TO securus;\n\n"
        f"--\n-- Data for Name: {table}; Type: TABLE DATA; Schema: public; Owner: securus\n--\n\n"
        f"COPY {table} ({names}) FROM stdin;\n"
    )
    return before, "\\.\n\n\n"


def assemble(path: Path, fmt: str, db: str, tables: list[tuple[str, Layout, Path]]) -> int:
    """Write the dump file from its tables' part files; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write((_MYSQL_HEAD.format(db=db) if fmt == "mysql_dump" else _PG_HEAD).encode())
        for table, layout, part in tables:
            make = mysql_table if fmt == "mysql_dump" else pg_table
            before, after = make(table, layout)
            out.write(before.encode())
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            out.write(after.encode())
        out.write((_MYSQL_TAIL if fmt == "mysql_dump" else _PG_TAIL).encode())
    return path.stat().st_size
