import Foundation
import NIOSSL

/// How scdns proves itself to etcd and checks etcd back, beyond the endpoint URLs (DESIGN.md section 5,
/// `registry.etcd.tls` and `registry.etcd.auth`; `--etcd-ca`, `--etcd-cert`, `--etcd-key`, `--etcd-user` and
/// `--etcd-password-file` on the command line). File names only: the files are read by `EtcdClient.init`,
/// which fails there, naming the file, rather than at the first call.
public struct EtcdSecurity: Sendable, Equatable {
    /// PEM file of the CA that signed the members' certificates; with https endpoints and no CA, the system's
    /// trusted roots check them.
    public var caFile: String?
    /// PEM files of this client's certificate (chain) and its private key, for members started with
    /// `--client-cert-auth`: both or neither.
    public var certFile: String?
    public var keyFile: String?
    /// An etcd user, authenticated with the password in `passwordFile` (its first line). The password is never
    /// taken from the command line or a config value, where `ps` and logs would show it.
    public var user: String?
    public var passwordFile: String?

    public init(
        caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, user: String? = nil,
        passwordFile: String? = nil
    ) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.user = user
        self.passwordFile = passwordFile
    }

    /// Whether any TLS file is named: then every endpoint must be https.
    public var usesTLSFiles: Bool { caFile != nil || certFile != nil || keyFile != nil }

    /// The TLS configuration for https endpoints, every file read and parsed now.
    func tlsConfiguration() throws(EtcdError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            let roots = try Self.read(caFile, "CA certificate") { try NIOSSLCertificate.fromPEMFile($0) }
            guard !roots.isEmpty else { throw .badSetting("the CA certificate file '\(caFile)' holds no certificate") }
            configuration.trustRoots = .certificates(roots)
        }
        switch (certFile, keyFile) {
        case (nil, nil):
            break
        case (let certFile?, let keyFile?):
            let chain = try Self.read(certFile, "client certificate") { try NIOSSLCertificate.fromPEMFile($0) }
            guard !chain.isEmpty else {
                throw .badSetting("the client certificate file '\(certFile)' holds no certificate")
            }
            let key = try Self.read(keyFile, "client key") { try NIOSSLPrivateKey(file: $0, format: .pem) }
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        default:
            throw .badSetting("a client certificate needs its key, and a key its certificate: give both")
        }
        return configuration
    }

    /// The user and password, or nil without a user.
    func credentials() throws(EtcdError) -> EtcdCredentials? {
        switch (user, passwordFile) {
        case (nil, nil):
            return nil
        case (let user?, let passwordFile?):
            guard !user.isEmpty else { throw .badSetting("the etcd user is empty") }
            let text = try Self.read(passwordFile, "password") { try String(contentsOfFile: $0, encoding: .utf8) }
            // The first line, as `echo secret > file` and a Kubernetes Secret mounted as a file both leave it.
            let password = String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)[0])
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            guard !password.isEmpty else { throw .badSetting("the password file '\(passwordFile)' is empty") }
            return EtcdCredentials(user: user, password: password)
        case (nil, _):
            throw .badSetting("a password file needs the user it is the password of")
        case (_, nil):
            throw .badSetting("an etcd user needs a password file")
        }
    }

    private static func read<Value>(
        _ path: String, _ what: String, _ body: (String) throws -> Value
    ) throws(EtcdError) -> Value {
        do {
            return try body(path)
        } catch {
            throw .badSetting("cannot read the \(what) file '\(path)': \(error)")
        }
    }
}

/// An etcd user and password, held in memory only; `description` never shows the password.
struct EtcdCredentials: Sendable, CustomStringConvertible {
    let user: String
    let password: String
    var description: String { "user \(user)" }
}
