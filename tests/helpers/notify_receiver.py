#!/usr/bin/python3
"""notify_receiver.py - a freedesktop notification server for tests: it owns
org.freedesktop.Notifications on the D-Bus bus at --address (a private bus the test
starts with dbus-daemon) and appends one JSON line per Notify call to --log:
  {"app_name", "summary", "body", "urgency", "icon", "expire_timeout"}
It writes --ready once it owns the name. Stops on SIGTERM. Used by
tests/unit/act/test_output_notify.c (notify-send is the real client)."""
import argparse
import json
import os
import signal

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "org.freedesktop.Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus, log):
        self.log = log
        self.next_id = 1
        super().__init__(bus, "/org/freedesktop/Notifications")

    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, timeout):
        rec = {"app_name": str(app_name), "summary": str(summary), "body": str(body),
               "urgency": int(hints.get("urgency", -1)), "icon": str(app_icon),
               "expire_timeout": int(timeout)}
        with open(self.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.next_id += 1
        return self.next_id - 1

    @dbus.service.method(IFACE, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["body", "body-markup"]

    @dbus.service.method(IFACE, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("moat-test", "moat", "1", "1.2")

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(a.address)
    name = dbus.service.BusName(IFACE, bus)
    srv = Server(bus, a.log)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with open(a.ready, "w") as f:
        f.write("ready\n")
    loop.run()


if __name__ == "__main__":
    main()
