"""A blocking rtnetlink socket for the few requests each container start makes.

pyroute2 encodes and decodes every message; this module only sends a request and reads its
answer. pyroute2's ``IPRoute`` runs each request through an asyncio loop of its own, which costs
several times what the messages do, and a container start makes seven of them (figures in
docs/performance.md). ``IPRoute`` stays for everything else.

A socket belongs to the network namespace it was opened in, so ``Rtnl`` opened inside a
container's namespace keeps talking to it after the thread has gone back.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, pid
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
CREATE = NLM_F_CREATE | NLM_F_EXCL


class Rtnl:
    def __init__(self) -> None:
        kind = socket.SOCK_RAW | socket.SOCK_CLOEXEC
        self.sock = socket.socket(socket.AF_NETLINK, kind, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def request(self, msg: Any, msg_type: int, flags: int = 0) -> list[bytes]:
        """Send ``msg``; return the answers' raw messages once the kernel acks (OSError if it refuses)."""
        self.seq += 1
        msg["header"]["type"] = msg_type
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.sock.send(msg.data)
        answers: list[bytes] = []
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + HEADER.size <= len(data):
                length, kind, _, seq, _ = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    raise OSError(errno.EPROTO, "malformed netlink message")
                body = data[offset : offset + length]
                offset += (length + 3) & ~3
                if seq != self.seq:
                    continue
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", body, HEADER.size)
                    if code:
                        raise OSError(-code, f"netlink: {os.strerror(-code)}")
                    return answers
                if kind == NLMSG_DONE:
                    return answers
                answers.append(body)

    def link_index(self, name: str) -> int:
        msg = ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name)]
        answers = self.request(msg, RTM_GETLINK)
        if not answers:
            raise OSError(errno.ENODEV, f"no interface {name}")
        # the index is in the reply's fixed ifinfomsg header; decoding every attribute (stats,
        # address families...) would cost more than the rest of a container's netlink work
        _, _, index, _, _ = IFINFOMSG.unpack_from(answers[0], HEADER.size)
        return int(index)

    def add_veth(self, name: str, master: int, peer: str, peer_netns_pid: int, peer_mac: str) -> None:
        """A veth whose ``name`` end is on bridge ``master`` and up; its peer born in a netns, with a MAC."""
        msg = ifinfmsg()
        msg["flags"] = msg["change"] = IFF_UP
        peer_attrs = [("IFLA_IFNAME", peer), ("IFLA_NET_NS_PID", peer_netns_pid), ("IFLA_ADDRESS", peer_mac)]
        data = {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}
        info = [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", data)]
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_MASTER", master), ("IFLA_LINKINFO", {"attrs": info})]
        self.request(msg, RTM_NEWLINK, CREATE)

    def set_up(self, index: int) -> None:
        msg = ifinfmsg()
        msg["index"] = index
        msg["flags"] = msg["change"] = IFF_UP
        self.request(msg, RTM_NEWLINK)

    def add_address(self, index: int, address: str, prefixlen: int) -> None:
        msg = ifaddrmsg()
        msg["family"], msg["prefixlen"], msg["index"] = socket.AF_INET, prefixlen, index
        msg["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address)]
        self.request(msg, RTM_NEWADDR, CREATE)

    def add_default_route(self, gateway: str) -> None:
        msg = rtmsg()
        msg["family"], msg["table"], msg["proto"] = socket.AF_INET, RT_TABLE_MAIN, RTPROT_BOOT
        msg["scope"], msg["type"] = RT_SCOPE_UNIVERSE, RTN_UNICAST
        msg["attrs"] = [("RTA_GATEWAY", gateway)]
        self.request(msg, RTM_NEWROUTE, CREATE)
