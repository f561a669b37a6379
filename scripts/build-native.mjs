// Placeholder: builds the optional TUN addon; never fails the install. (Replaced by the io/ work.)
console.log('mptcp-ts: native TUN addon not built yet');
