"""A local RTSP camera for tests: GStreamer's RTSP server streaming a video file as H.264.

Runs under Debian's python3 (python3-gi, gir1.2-gst-rtsp-server-1.0):
    /usr/bin/python3 tests/support/rtsp_server.py PORT FILE
serves rtsp://127.0.0.1:PORT/cam, looping the file, until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    """Serve the file on 127.0.0.1 only."""
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( multifilesrc location="{path}" loop=true ! decodebin ! videoconvert '
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 bitrate=800 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    server.attach(None)
    print(f"rtsp://127.0.0.1:{port}/cam", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
