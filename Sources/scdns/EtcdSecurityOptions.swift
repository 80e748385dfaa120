import ArgumentParser
import RegistryEtcd

/// `--etcd-ca`, `--etcd-cert`, `--etcd-key`, `--etcd-user` and `--etcd-password-file`, for every command that
/// talks to etcd (DESIGN.md section 6). There is no password flag: a password on the command line shows in `ps`.
struct EtcdSecurityOptions: ParsableArguments {
    @Option(name: .customLong("etcd-ca"), help: "PEM file of the CA that signed etcd's certificates (https endpoints).")
    var caFile: String?

    @Option(
        name: .customLong("etcd-cert"), help: "PEM file of this client's certificate, for etcd's --client-cert-auth.")
    var certFile: String?

    @Option(name: .customLong("etcd-key"), help: "PEM file of the client certificate's private key.")
    var keyFile: String?

    @Option(name: .customLong("etcd-user"), help: "etcd user to authenticate as (with --etcd-password-file).")
    var user: String?

    @Option(name: .customLong("etcd-password-file"), help: "File whose first line is the etcd user's password.")
    var passwordFile: String?

    var isEmpty: Bool { caFile == nil && certFile == nil && keyFile == nil && user == nil && passwordFile == nil }

    /// `base` with every flag given put over it.
    func applied(to base: EtcdSecurity) -> EtcdSecurity {
        var security = base
        if let caFile { security.caFile = caFile }
        if let certFile { security.certFile = certFile }
        if let keyFile { security.keyFile = keyFile }
        if let user { security.user = user }
        if let passwordFile { security.passwordFile = passwordFile }
        return security
    }
}
