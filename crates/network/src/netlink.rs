//! A small rtnetlink client: one socket, request/reply with sequence checks, and the verbs we need, in pairs.
//!
//! rtnetlink (see rtnetlink(7), netlink(7)) is how `ip link`/`ip addr`/`ip route` talk to the kernel. A
//! [`Socket`] is bound to the network namespace of the thread that opened it and stays there: open one inside a
//! container's netns (see [`crate::netns`]) and keep using it from the host. Every request asks for an ACK; the
//! reader skips messages of other sequence numbers, collects multi-part dump replies until `NLMSG_DONE`, and turns
//! an `NLMSG_ERROR` with a non-zero code into [`NetlinkError::Kernel`], naming the request.
//!
//! Verbs: [`Socket::create_bridge`]/[`Socket::delete_link`], [`Socket::create_veth`]/[`Socket::delete_link`],
//! [`Socket::add_addr`]/[`Socket::del_addr`], [`Socket::add_route`]/[`Socket::del_route`], [`Socket::set_up`],
//! [`Socket::link_index`], [`Socket::dump_routes`].

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, SocketAddr};

use crate::error::NetlinkError;
use crate::subnet::Ipv4Net;

type Result<T> = std::result::Result<T, NetlinkError>;

/// Receive buffer size; big enough for any single datagram the kernel sends for a dump.
const RECV_BUF: usize = 64 * 1024;

/// A NETLINK_ROUTE socket bound to the netns it was opened in.
pub struct Socket {
    sock: netlink_sys::Socket,
    seq: u32,
}

/// Options of a veth pair whose peer is created directly inside another netns.
pub struct VethOptions<'a> {
    /// Host-side name.
    pub host_name: &'a str,
    /// Name of the peer inside the container (`eth0`).
    pub peer_name: &'a str,
    /// The container's netns.
    pub peer_netns: BorrowedFd<'a>,
    /// MAC address of the peer.
    pub peer_mac: [u8; 6],
    /// MTU of both ends.
    pub mtu: u32,
    /// Bridge index to attach the host end to.
    pub controller: u32,
}

impl Socket {
    /// Opens a socket in the calling thread's current network namespace.
    pub fn new() -> Result<Self> {
        let mut sock = netlink_sys::Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Open)?;
        sock.bind_auto().map_err(NetlinkError::Open)?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Open)?;
        // Extended ACKs give better kernel error messages; not fatal if unsupported.
        let _ = sock.set_ext_ack(true);
        Ok(Socket { sock, seq: 0 })
    }

    /// Sends one request and returns the reply messages (empty for a plain ACK).
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        what: &dyn Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags | if dump { 0 } else { NLM_F_ACK };
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0).map_err(|source| NetlinkError::Io {
            step: "send",
            what: what(),
            source,
        })?;

        let mut replies = Vec::new();
        let mut rbuf = vec![0u8; RECV_BUF];
        loop {
            let n = self
                .sock
                .recv(&mut &mut rbuf[..], 0)
                .map_err(|source| NetlinkError::Io {
                    step: "recv",
                    what: what(),
                    source,
                })?
                .min(RECV_BUF);
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rbuf[off..n])
                    .map_err(|e| NetlinkError::Decode {
                        what: what(),
                        reason: e.to_string(),
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    return Err(NetlinkError::Decode {
                        what: what(),
                        reason: "zero-length message".into(),
                    });
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue; // a late reply to an earlier request, or a notification
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Error(e) => {
                        if e.code.is_some() {
                            return Err(NetlinkError::Kernel {
                                what: what(),
                                source: e.to_io(),
                            });
                        }
                        return Ok(replies); // ACK
                    }
                    // Dump replies are multi-part and end with NLMSG_DONE; a single reply to a plain request is
                    // followed by the ACK we asked for.
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    _ => {}
                }
            }
        }
    }

    /// The link called `name`, if any.
    pub fn get_link(&mut self, name: &str) -> Result<Option<LinkMessage>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, &|| {
            format!("get link {name}")
        }) {
            Ok(mut v) => Ok(v.drain(..).find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Index of the link called `name`, or [`NetlinkError::NoDevice`].
    pub fn link_index(&mut self, name: &str) -> Result<u32> {
        self.get_link(name)?
            .map(|l| l.header.index)
            .ok_or_else(|| NetlinkError::NoDevice(name.to_string()))
    }

    /// Creates a bridge (`ip link add NAME type bridge mtu MTU`). Fails with EEXIST if it exists.
    pub fn create_bridge(&mut self, name: &str, mtu: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &|| format!("create bridge {name}"),
        )
        .map(drop)
    }

    /// Creates a veth pair whose peer is born inside another netns, and attaches the host end to a bridge
    /// (`ip link add HOST mtu M master BR type veth peer name eth0 netns FD address MAC mtu M`).
    pub fn create_veth(&mut self, o: &VethOptions<'_>) -> Result<()> {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(o.peer_name.to_string()));
        peer.attributes
            .push(LinkAttribute::NetNsFd(o.peer_netns.as_raw_fd()));
        peer.attributes
            .push(LinkAttribute::Address(o.peer_mac.to_vec()));
        peer.attributes.push(LinkAttribute::Mtu(o.mtu));
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(o.host_name.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(o.mtu));
        msg.attributes.push(LinkAttribute::Controller(o.controller));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &|| {
                format!(
                    "create veth {} (peer {} in container netns)",
                    o.host_name, o.peer_name
                )
            },
        )
        .map(drop)
    }

    /// Deletes a link by name. Returns `false` when there was no such link (already gone counts as done).
    pub fn delete_link(&mut self, name: &str) -> Result<bool> {
        let Some(link) = self.get_link(name)? else {
            return Ok(false);
        };
        let mut msg = LinkMessage::default();
        msg.header.index = link.header.index;
        match self.request(RouteNetlinkMessage::DelLink(msg), 0, &|| {
            format!("delete link {name}")
        }) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Attaches a link to a bridge (`ip link set dev X master BR`).
    pub fn set_controller(&mut self, index: u32, name: &str, controller: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::Controller(controller));
        self.request(RouteNetlinkMessage::SetLink(msg), 0, &|| {
            format!("attach {name} to bridge index {controller}")
        })
        .map(drop)
    }

    /// Sets a link up (`ip link set dev X up`).
    pub fn set_up(&mut self, index: u32, name: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0, &|| {
            format!("set link {name} up")
        })
        .map(drop)
    }

    fn addr_msg(index: u32, ip: Ipv4Addr, subnet: &Ipv4Net) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = subnet.prefix();
        msg.header.scope = AddressScope::Universe;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(ip)));
        msg.attributes
            .push(AddressAttribute::Broadcast(subnet.broadcast()));
        msg
    }

    /// Adds `ip/prefix` to a link (`ip addr add`). An address that is already there counts as done.
    pub fn add_addr(
        &mut self,
        index: u32,
        name: &str,
        ip: Ipv4Addr,
        subnet: &Ipv4Net,
    ) -> Result<()> {
        let msg = Self::addr_msg(index, ip, subnet);
        let what = || format!("add address {ip}/{} to {name}", subnet.prefix());
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        ) {
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
            r => r.map(drop),
        }
    }

    /// Removes `ip/prefix` from a link (`ip addr del`). A missing address counts as done.
    pub fn del_addr(
        &mut self,
        index: u32,
        name: &str,
        ip: Ipv4Addr,
        subnet: &Ipv4Net,
    ) -> Result<()> {
        let msg = Self::addr_msg(index, ip, subnet);
        let what = || format!("delete address {ip}/{} from {name}", subnet.prefix());
        match self.request(RouteNetlinkMessage::DelAddress(msg), 0, &what) {
            Err(e) if matches!(e.errno(), Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV)) => Ok(()),
            r => r.map(drop),
        }
    }

    fn route_msg(dst: &Ipv4Net, gateway: Option<Ipv4Addr>, oif: u32) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.destination_prefix_length = dst.prefix();
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = if gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        msg.header.kind = RouteType::Unicast;
        if dst.prefix() > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(
                    dst.network(),
                )));
        }
        if let Some(gw) = gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet(gw)));
        }
        msg.attributes.push(RouteAttribute::Oif(oif));
        msg
    }

    /// Adds a route (`ip route add DST [via GW] dev OIF`); `0.0.0.0/0` is the default route.
    pub fn add_route(&mut self, dst: &Ipv4Net, gateway: Option<Ipv4Addr>, oif: u32) -> Result<()> {
        let msg = Self::route_msg(dst, gateway, oif);
        let what = || format!("add route {dst} via {gateway:?} dev index {oif}");
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        )
        .map(drop)
    }

    /// Deletes a route; a missing route counts as done.
    pub fn del_route(&mut self, dst: &Ipv4Net, gateway: Option<Ipv4Addr>, oif: u32) -> Result<()> {
        let msg = Self::route_msg(dst, gateway, oif);
        let what = || format!("delete route {dst} via {gateway:?} dev index {oif}");
        match self.request(RouteNetlinkMessage::DelRoute(msg), 0, &what) {
            Err(e) if matches!(e.errno(), Some(libc::ESRCH) | Some(libc::ENODEV)) => Ok(()),
            r => r.map(drop),
        }
    }

    /// Destinations of every IPv4 route in every table except the default route and local/broadcast routes:
    /// what a new subnet must not overlap.
    pub fn dump_routes(&mut self) -> Result<Vec<Ipv4Net>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let replies = self.request(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP, &|| {
            "dump routes".into()
        })?;
        let mut out = Vec::new();
        for r in replies {
            let RouteNetlinkMessage::NewRoute(r) = r else {
                continue;
            };
            if r.header.kind != RouteType::Unicast || r.header.destination_prefix_length == 0 {
                continue;
            }
            for a in &r.attributes {
                if let RouteAttribute::Destination(RouteAddress::Inet(ip)) = a {
                    out.push(Ipv4Net::containing(*ip, r.header.destination_prefix_length));
                }
            }
        }
        Ok(out)
    }
}
