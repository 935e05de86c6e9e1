//! One file per group of commands; `dispatch` maps the parsed command line onto them.

pub mod build;
pub mod builder;
pub mod cp;
pub mod df;
pub mod exec;
pub mod health_opts;
pub mod images;
pub mod inspect;
pub mod lifecycle;
pub mod login;
pub mod logs;
pub mod network;
pub mod network_create;
pub mod opts;
pub mod port;
pub mod ps;
pub mod run;
pub mod stats;
pub mod system;
pub mod transfer;
pub mod update;
pub mod volume;

use crate::Ctx;
use crate::cli::{Command, ContainerCmd, ContainerGroup, ImageCmd, ImageGroup, SystemCmd};
use inspect::Kind;

pub fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Container(c) => container(ctx, c),
        Command::Image(c) => image(ctx, c),
        Command::ContainerGroup(group) => match group {
            ContainerGroup::Common(c) => container(ctx, c),
            ContainerGroup::Ls(args) => ps::ps(ctx, args),
            ContainerGroup::Inspect(args) => inspect::inspect(ctx, args, Kind::Container),
            ContainerGroup::Prune(args) => system::prune_containers(ctx, &args.filter, args.force),
        },
        Command::ImageGroup(group) => match group {
            ImageGroup::Ls(args) => images::images(ctx, args),
            ImageGroup::Rm(args) => images::rmi(ctx, args),
            ImageGroup::Inspect(args) => inspect::inspect(ctx, args, Kind::Image),
            ImageGroup::Prune(args) => {
                system::prune_images(ctx, &args.filter, args.all, args.force)
            }
            ImageGroup::Common(c) => image(ctx, c),
        },
        Command::System(s) => match s {
            SystemCmd::Df(args) => df::df(ctx, args),
            SystemCmd::Info(args) => system::info(ctx, args),
            SystemCmd::Prune(args) => system::system_prune(ctx, args),
            SystemCmd::Events(args) => system::events(ctx, args),
        },
        Command::Network(c) => network::dispatch(ctx, c),
        Command::Volume(c) => volume::dispatch(ctx, c),
        Command::Builder(c) => builder::builder(ctx, c),
        Command::Version(args) => system::version(ctx, args),
        Command::Info(args) => system::info(ctx, args),
        Command::Events(args) => system::events(ctx, args),
        Command::Login(args) => login::login(ctx, args),
        Command::Logout { server } => login::logout(ctx, server.as_deref()),
        Command::Inspect(args) => inspect::inspect(ctx, args, Kind::Any),
        Command::Registry { args } => {
            crate::plugin::exec("berth-registry", &args)?;
            Ok(0)
        }
    }
}

fn container(ctx: &Ctx, command: ContainerCmd) -> anyhow::Result<i32> {
    match command {
        ContainerCmd::Run(args) => run::run(ctx, *args),
        ContainerCmd::Create(args) => run::create(ctx, *args),
        ContainerCmd::Start(args) => lifecycle::start(ctx, args),
        ContainerCmd::Stop(args) => lifecycle::stop(ctx, args),
        ContainerCmd::Restart(args) => lifecycle::restart(ctx, args),
        ContainerCmd::Kill(args) => lifecycle::kill(ctx, args),
        ContainerCmd::Pause(c) => lifecycle::pause(ctx, &c.containers, true),
        ContainerCmd::Unpause(c) => lifecycle::pause(ctx, &c.containers, false),
        ContainerCmd::Rm(args) => lifecycle::rm(ctx, args),
        ContainerCmd::Ps(args) => ps::ps(ctx, args),
        ContainerCmd::Logs(args) => logs::logs(ctx, args),
        ContainerCmd::Exec(args) => exec::exec(ctx, args),
        ContainerCmd::Attach(args) => exec::attach(ctx, args),
        ContainerCmd::Wait(c) => lifecycle::wait(ctx, &c.containers),
        ContainerCmd::Port(args) => port::port(ctx, args),
        ContainerCmd::Top { argv } => match argv.split_first() {
            Some((container, ps_args)) => cp::top(ctx, container, ps_args),
            None => anyhow::bail!("\"berth top\" requires at least 1 argument"),
        },
        ContainerCmd::Stats(args) => stats::stats(ctx, args),
        ContainerCmd::Cp(args) => cp::cp(ctx, args),
        ContainerCmd::Rename {
            container,
            new_name,
        } => lifecycle::rename(ctx, &container, &new_name),
        ContainerCmd::Export { container, output } => {
            cp::export(ctx, &container, output.as_deref())
        }
        ContainerCmd::Diff { container } => cp::diff(ctx, &container),
        ContainerCmd::Update(args) => update::update(ctx, args),
    }
}

fn image(ctx: &Ctx, command: ImageCmd) -> anyhow::Result<i32> {
    match command {
        ImageCmd::Images(args) => images::images(ctx, args),
        ImageCmd::Rmi(args) => images::rmi(ctx, args),
        ImageCmd::Pull(args) => transfer::pull(ctx, args),
        ImageCmd::Push(args) => transfer::push(ctx, args),
        ImageCmd::Tag { source, target } => images::tag(ctx, &source, &target),
        ImageCmd::Build(args) => build::build(ctx, *args),
        ImageCmd::Load(args) => transfer::load(ctx, args),
        ImageCmd::Save(args) => transfer::save(ctx, args),
        ImageCmd::Import(args) => transfer::import(ctx, args),
        ImageCmd::History(args) => images::history(ctx, args),
    }
}
